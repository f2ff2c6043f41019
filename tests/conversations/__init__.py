"""Bot conversations, command by command, through the end-to-end harness."""
