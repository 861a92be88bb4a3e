"""Everything in settlesim that touches the EVM: compiling, deploying, the chain client."""

__all__: list[str] = []
