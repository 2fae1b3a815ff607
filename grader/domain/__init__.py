"""Domain operations: functions over a session that may flush but never commit."""
