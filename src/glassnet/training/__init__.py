"""Training: the fit loop and its History, callbacks, schedules, augmentation, interrupt/resume."""
