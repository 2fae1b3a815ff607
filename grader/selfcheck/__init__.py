"""Mutation analysis of an assignment: how many plausible mistakes its cases catch and name.

``mutants`` makes wrong versions of the reference module, ``oracle`` decides which of them are
really wrong (on inputs drawn independently of the cases), ``run`` grades each one through the
real engine and sandbox and tallies the report. No Flask, no database.
"""
