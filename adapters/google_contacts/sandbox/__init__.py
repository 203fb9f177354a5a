"""An in-process People API sandbox (``server.create_app``); it imports nothing of the
adapter it serves."""
