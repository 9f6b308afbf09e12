"""mirrorkit: get Red Hat Developer Hub with the Orchestrator into disconnected OpenShift clusters."""

__version__ = "0.1.0"
