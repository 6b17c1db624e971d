"""The daily quote: time arithmetic, the scheduler, and the send pacer."""
