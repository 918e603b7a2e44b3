"""Squat jump: a push from a held squat, with no countermovement."""

from forceplate.exercises.jumping import jump_exercise

EXERCISE = jump_exercise("squat_jump", "squat jump", ("sj",),
                         "one jump per flight from the held squat; propulsion from onset (no unweighting or braking)")
