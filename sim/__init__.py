"""settlesim's simulation model: bank networks, workloads, rails and results."""

__all__: list[str] = []
