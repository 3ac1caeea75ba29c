"""Temperature schedules beta(n): the schedules, the regime map and the schedule fit."""
