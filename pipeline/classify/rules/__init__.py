"""Hand-written rules the classifier applies beside what it learned: polarity cues, procedural passages,
tripwires."""
