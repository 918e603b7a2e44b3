"""Where benchmarks leave their figures: printed, and kept in benchmarks/results/NAME.txt."""

from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def publish(name: str, lines: list[str]) -> None:
    report = "\n".join(lines) + "\n"
    print(report, end="")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"{name}.txt").write_text(report)
