"""Rounds at run time: the lifecycle service (:mod:`.service`) and the timer that wakes
it when the database says something is due (:mod:`.scheduler`)."""
