"""Assignment plugins: one subpackage per assignment, each exposing ``ASSIGNMENT``."""
