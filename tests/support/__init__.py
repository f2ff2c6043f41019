"""Helpers shared by the tests (fixtures, harness, seeds, fakes); no tests here."""
