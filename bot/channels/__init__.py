"""Channel adapters: each turns one chat app's events into the conversation layer's
inbound events and its replies into that app's API calls, and nothing else."""
