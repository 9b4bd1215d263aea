"""The real-time path: events out of the services, through the channel layer, to each socket."""
