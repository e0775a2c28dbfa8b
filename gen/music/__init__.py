"""The MIDI music head (see issue 3)."""
