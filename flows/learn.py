"""The learn flow: refit the classifier from analysts' decisions (weekly, when served)."""

from __future__ import annotations

from pipeline.settings import configure_environment

configure_environment()

from prefect import flow, get_run_logger  # noqa: E402
from prefect.artifacts import create_markdown_artifact  # noqa: E402

from pipeline.taxonomy import DEFAULT_TAXONOMY, load_taxonomy  # noqa: E402
from pipeline.training.learn import LearnReport, format_report, learn  # noqa: E402

WEEKLY = "0 4 * * 1"  # Monday 04:00, after the nightly scrapes


@flow(name="learn", validate_parameters=False)
def learn_flow(db: str, taxonomy: str = DEFAULT_TAXONOMY, activate: bool = True) -> LearnReport:
    from pipeline.embed import load_encoder

    report = learn(db, load_encoder(), load_taxonomy(taxonomy), activate_if_better=activate)
    text = format_report(report)
    get_run_logger().info("%s", report.verdict)
    create_markdown_artifact(f"# Learning from decisions\n\n```\n{text}\n```\n", key="learn-report",
                             description="bv-triage learn run")
    return report
