"""Countermovement jump: a dip (unweighting, braking) straight into the push."""

from forceplate.exercises.jumping import jump_exercise

EXERCISE = jump_exercise("countermovement_jump", "countermovement jump", ("cmj",),
                         "one jump per flight from standing; unweighting from onset to peak downward velocity")
