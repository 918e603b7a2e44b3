"""Drop jump: a drop from a box, a short contact and a jump (RSI = height / contact time)."""

from forceplate.exercises.jumping import jump_exercise

EXERCISE = jump_exercise("drop_jump", "drop jump", ("dj", "depth_jump"),
                         "the drop's landing begins the contact (a rebound: braking from touchdown); "
                         "body weight from the quiet stretch after the jump")
