"""The live channel monitor (no Qt): ``engine.LiveMonitor`` polls every variant of every
channel; ``rules`` turns what it read into alarms; ``late_join`` probes as a new viewer
during breaks; ``event_log`` keeps the alarms in SQLite. See docs/contracts.md §1.2 for the
channels' playlists."""
