"""lunarwatch: a news monitor that reports what is new or contradictory about configured topics."""

__version__ = "1.0.0"
