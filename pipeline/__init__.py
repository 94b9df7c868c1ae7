"""bv-triage: find evidence against the Best Value Duty indicators in council papers."""

__version__ = "0.1.0"
