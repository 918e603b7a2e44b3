"""``calibrate flag`` from the window: a person's knee-collapse reference while they squat.

The operator names the lifter, records their normal reps, then their deliberate knees-in
reps (each a squat trial the session records into the lab's folder, so nothing measured is
lost whatever the fit says), then fits: the command's own procedure
(:func:`forceplate.flag_procedure.reference_from_trials`) on the two trials, saved with the
subject as ``calibrate flag`` saves it. The window then grades with the reference's
threshold scale; ``analyze`` and ``record`` find the reference by the trials' subject.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pyqtgraph.Qt import QtCore, QtWidgets

from forceplate.calibration.flag import FlagReference, file_name, reference_dir, save_reference
from forceplate.errors import ForceplateError
from forceplate.flag_procedure import reference_from_trials

STEPS = ("normal", "knees_in")  # what is recorded, in this order
STEP_NOTES = {"normal": "calibrate flag: normal reps", "knees_in": "calibrate flag: deliberate knees-in reps"}


def trials_dir() -> Path:
    """Where the window's calibration trials are recorded: beside the lab's flag references."""
    return reference_dir() / "trials"


class FlagReferenceDialog(QtWidgets.QDialog):
    """The three steps (normal reps, knees-in reps, fit and save) on a running session.

    ``saved`` carries the reference once it is saved. The dialog never stops a recording it
    did not start: with one under way it says so and waits.
    """

    saved = QtCore.Signal(object)

    def __init__(self, parent: QtWidgets.QWidget, session):
        super().__init__(parent)
        self.setWindowTitle("Flag reference (calibrate flag)")
        self.session = session
        self.trials: dict[str, Path] = {}
        self.reference: FlagReference | None = None
        self.subject = QtWidgets.QLineEdit()
        self.subject.setPlaceholderText("the lifter's ID, as their trials are recorded")
        self.status = QtWidgets.QLabel("Name the lifter, then record at least 3 normal reps.")
        self.status.setWordWrap(True)
        self.status.setMinimumWidth(460)
        self.status.setMinimumHeight(4 * self.status.fontMetrics().lineSpacing())  # room for a refusal's reason
        self.normal_button = QtWidgets.QPushButton("1. Record normal reps")
        self.knees_in_button = QtWidgets.QPushButton("2. Record knees-in reps")
        self.fit_button = QtWidgets.QPushButton("3. Stop, fit and save")
        self.normal_button.clicked.connect(lambda: self.record("normal"))
        self.knees_in_button.clicked.connect(lambda: self.record("knees_in"))
        self.fit_button.clicked.connect(self.fit)
        close = QtWidgets.QPushButton("Close")
        close.clicked.connect(self.close)
        form = QtWidgets.QFormLayout(self)
        form.addRow("Subject", self.subject)
        steps = QtWidgets.QHBoxLayout()
        for button in (self.normal_button, self.knees_in_button, self.fit_button, close):
            steps.addWidget(button)
        form.addRow(steps)
        form.addRow(self.status)
        self._enable()

    def _enable(self) -> None:
        recording = self.session.recording is not None
        self.normal_button.setEnabled("normal" not in self.trials)
        self.knees_in_button.setEnabled("normal" in self.trials and "knees_in" not in self.trials)
        self.fit_button.setEnabled("knees_in" in self.trials and recording)

    def record(self, step: str) -> None:
        """Start recording ``step``'s reps (after the normal reps: stop theirs first)."""
        subject = self.subject.text().strip()
        if not subject:
            self.status.setText("Name the lifter first: the reference is stored with the subject.")
            return
        ours = self.session.recording is not None and self.session.recording in self.trials.values()
        if self.session.recording is not None and not ours:
            self.status.setText(f"A recording is under way ({self.session.recording}): stop it first.")
            return
        try:
            if ours:
                self.session.stop_recording()
            folder = trials_dir()
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{file_name(subject)[:-len('.toml')]}-{step}-{dt.datetime.now():%Y%m%d-%H%M%S}.h5"
            self.session.start_recording(path, {"subject": subject, "exercise": "squat", "notes": STEP_NOTES[step]})
        except (ForceplateError, OSError) as exc:
            self.status.setText(f"not recording: {exc}")
            return
        self.trials[step] = path
        self.subject.setReadOnly(True)  # both trials are of one person
        what = "normal reps, the way this lifter squats" if step == "normal" else "reps with the knees caving in, on purpose"
        self.status.setText(f"Recording {path.name}: at least 3 {what}. Then "
                            + ("record the knees-in reps." if step == "normal" else "stop, fit and save."))
        self._enable()

    def fit(self) -> None:
        """Stop the knees-in recording, fit the reference from both trials and save it."""
        try:
            self.session.stop_recording()
        except ForceplateError as exc:  # the writer failed: the knees-in trial is not whole
            self.status.setText(f"not saved: {exc}")
            return
        self.status.setText("Fitting…")
        QtWidgets.QApplication.processEvents()
        try:
            reference = save_reference(reference_from_trials(self.trials["normal"], self.trials["knees_in"],
                                                             self.subject.text().strip()))
        except ForceplateError as exc:
            self.status.setText(f"No reference: {exc}. The trials are kept in {trials_dir()}; "
                                "record both steps again, or fit them with forceplate calibrate flag.")
            self.trials.clear()
            self.subject.setReadOnly(False)
            self._enable()
            return
        self.reference = reference
        self.status.setText(f"Saved: {reference.describe()}")
        self._enable()
        self.saved.emit(reference)
