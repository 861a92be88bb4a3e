"""ABI encoding and decoding for settlesim's contracts, by selector.

web3's eth-tester provider decodes only ``Error(string)`` reverts; this
registry decodes every custom error declared in the contracts' ABIs (and
``Error``/``Panic``), every event, and encodes calls without web3's per-call
ABI lookups.

Example::

    >>> reg = AbiRegistry.from_artifacts()
    >>> reg.decode_error(reg.error_selector("Stablecoin", "AccountBlacklisted")
    ...                  + bytes(12) + bytes.fromhex("11" * 20))
    ('AccountBlacklisted', {'account': '0x1111111111111111111111111111111111111111'})
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import is_address, keccak, to_checksum_address

from settlement.errors import InvalidArgument, check_int

__all__ = ["AbiRegistry", "DecodedEvent"]

PANIC_CODES = {
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division or modulo by zero",
    0x21: "invalid enum value",
    0x22: "invalid storage byte array",
    0x31: "pop on empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory",
    0x51: "call to an invalid internal function",
}


_INT_RE = re.compile(r"^(u?)int(\d*)$")


@dataclass(frozen=True)
class DecodedEvent:
    """An event log decoded from one of the known ABIs."""

    name: str
    address: str
    args: Mapping[str, Any]
    contract: str

    def __getitem__(self, key: str) -> Any:
        return self.args[key]


def _type_str(item: Mapping[str, Any]) -> str:
    t: str = item["type"]
    if t.startswith("tuple"):
        inner = ",".join(_type_str(c) for c in item["components"])
        return f"({inner}){t[5:]}"
    return t


def _normalise(value: Any, item: Mapping[str, Any]) -> Any:
    """Decoded values made friendly: checksummed addresses, tuples as dicts."""
    t: str = item["type"]
    if t.endswith("]"):
        elem = dict(item)
        elem["type"] = t[: t.rindex("[")]
        return [_normalise(v, elem) for v in value]
    if t == "tuple":
        return {c["name"]: _normalise(v, c) for v, c in zip(value, item["components"], strict=True)}
    if t == "address":
        return to_checksum_address(value)
    return value


def _to_abi_value(value: Any, item: Mapping[str, Any], here: str = "value") -> Any:
    """Python values to what eth_abi encodes (dicts and named tuples for structs),
    each checked against its Solidity type first: :class:`InvalidArgument` names the
    value (``SettlementEscrow.lock: terms.amount``) and what its type allows."""
    t: str = item["type"]
    if t.endswith("]"):
        elem = dict(item)
        elem["type"] = t[: t.rindex("[")]
        if isinstance(value, str | bytes) or not isinstance(value, Sequence):
            raise InvalidArgument(f"{here} must be a list ({t}), not {type(value).__name__}")
        return [_to_abi_value(v, elem, f"{here}[{i}]") for i, v in enumerate(value)]
    if t == "tuple":
        comps = item["components"]
        if isinstance(value, Mapping):
            missing = [c["name"] for c in comps if c["name"] not in value]
            if missing:
                raise InvalidArgument(f"{here} lacks {', '.join(missing)}")
            return tuple(_to_abi_value(value[c["name"]], c, f"{here}.{c['name']}")
                         for c in comps)
        if hasattr(value, "_asdict"):
            d = value._asdict()
            return tuple(_to_abi_value(d[c["name"]], c, f"{here}.{c['name']}") for c in comps)
        if not isinstance(value, Sequence) or len(value) != len(comps):
            raise InvalidArgument(f"{here} must be a struct of {len(comps)} fields "
                                  f"({', '.join(c['name'] for c in comps)})")
        return tuple(_to_abi_value(v, c, f"{here}.{c['name']}")
                     for v, c in zip(value, comps, strict=True))
    m = _INT_RE.match(t)
    if m:
        bits = int(m.group(2) or 256)
        if m.group(1) == "u":
            return check_int(value, here, low=0, high=2**bits - 1, kind=t)
        return check_int(value, here, low=-(2 ** (bits - 1)), high=2 ** (bits - 1) - 1, kind=t)
    if t == "address":
        if not (isinstance(value, str) and is_address(value)):
            raise InvalidArgument(f"{here} must be a 20-byte hex address (0x + 40 hex digits), "
                                  f"not {value!r}"[:200])
        return value
    if t == "bool":
        if not isinstance(value, bool):
            raise InvalidArgument(f"{here} must be True or False (bool), not {value!r}"[:200])
        return value
    if t.startswith("bytes") and t != "bytes":
        size = int(t[5:])
        if isinstance(value, str):
            try:
                value = bytes.fromhex(value[2:] if value.startswith("0x") else value)
            except ValueError:
                raise InvalidArgument(f"{here} must be {size} bytes ({t}), not the text "
                                      f"{value!r}"[:200]) from None
        if not isinstance(value, bytes | bytearray) or len(value) != size:
            shown = f"{len(value)} bytes" if isinstance(value, bytes | bytearray) else \
                type(value).__name__
            raise InvalidArgument(f"{here} must be exactly {size} bytes ({t}), not {shown}")
        return bytes(value)
    if t == "bytes" and not isinstance(value, bytes | bytearray):
        raise InvalidArgument(f"{here} must be bytes, not {type(value).__name__}")
    if t == "string" and not isinstance(value, str):
        raise InvalidArgument(f"{here} must be text (string), not {type(value).__name__}")
    return value


@dataclass(frozen=True)
class _Fn:
    selector: bytes
    inputs: tuple[Mapping[str, Any], ...]
    outputs: tuple[Mapping[str, Any], ...]
    in_types: tuple[str, ...]
    out_types: tuple[str, ...]


@dataclass(frozen=True)
class _Err:
    name: str
    inputs: tuple[Mapping[str, Any], ...]
    types: tuple[str, ...]


@dataclass(frozen=True)
class _Ev:
    name: str
    contract: str
    inputs: tuple[Mapping[str, Any], ...]


class AbiRegistry:
    """Functions, errors and events of a set of contracts, indexed for speed."""

    def __init__(self, abis: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
        self.abis = {k: list(v) for k, v in abis.items()}
        self._fns: dict[tuple[str, str], _Fn] = {}
        self._ctors: dict[str, tuple[str, ...]] = {}
        self._errors: dict[bytes, _Err] = {
            bytes.fromhex("08c379a0"): _Err("Error", ({"name": "message", "type": "string"},),
                                            ("string",)),
            bytes.fromhex("4e487b71"): _Err("Panic", ({"name": "code", "type": "uint256"},),
                                            ("uint256",)),
        }
        self._events: dict[bytes, _Ev] = {}
        for contract, abi in self.abis.items():
            for item in abi:
                kind = item.get("type")
                inputs = tuple(item.get("inputs", ()))
                types = tuple(_type_str(i) for i in inputs)
                sig = f"{item.get('name')}({','.join(types)})"
                if kind == "function":
                    outputs = tuple(item.get("outputs", ()))
                    key = (contract, item["name"])
                    if key in self._fns:  # overloaded: address by full signature
                        key = (contract, sig)
                    self._fns[key] = _Fn(
                        keccak(text=sig)[:4], inputs, outputs, types,
                        tuple(_type_str(o) for o in outputs),
                    )
                elif kind == "constructor":
                    self._ctors[contract] = types
                elif kind == "error":
                    self._errors[keccak(text=sig)[:4]] = _Err(item["name"], inputs, types)
                elif kind == "event" and not item.get("anonymous"):
                    self._events.setdefault(keccak(text=sig), _Ev(item["name"], contract, inputs))

    @classmethod
    def from_artifacts(cls, names: Iterable[str] | None = None) -> AbiRegistry:
        """A registry of the committed artifacts (all settlesim contracts by default)."""
        from settlement.compile import CONTRACTS, load_artifact

        return cls({n: load_artifact(n)["abi"] for n in (names or CONTRACTS)})

    # -- encoding -----------------------------------------------------------------

    def _fn(self, contract: str, function: str) -> _Fn:
        try:
            return self._fns[(contract, function)]
        except KeyError:
            raise KeyError(f"{contract} has no function {function!r}") from None

    def encode_call(self, contract: str, function: str, args: Sequence[Any]) -> bytes:
        fn = self._fn(contract, function)
        if len(args) != len(fn.inputs):
            names = ", ".join(i["name"] for i in fn.inputs)
            raise TypeError(f"{contract}.{function} takes ({names}); got {len(args)} arguments")
        values = [_to_abi_value(a, i, f"{contract}.{function}: {i['name'] or f'argument {k}'}")
                  for k, (a, i) in enumerate(zip(args, fn.inputs, strict=True))]
        return fn.selector + abi_encode(fn.in_types, values)

    def encode_constructor(self, contract: str, args: Sequence[Any]) -> bytes:
        types = self._ctors.get(contract, ())
        if len(args) != len(types):
            raise TypeError(f"{contract} constructor takes {len(types)} arguments, got {len(args)}")
        return abi_encode(types, list(args)) if types else b""

    def decode_result(self, contract: str, function: str, raw: bytes) -> Any:
        fn = self._fn(contract, function)
        values = abi_decode(fn.out_types, raw)
        out = [_normalise(v, o) for v, o in zip(values, fn.outputs, strict=True)]
        return out[0] if len(out) == 1 else tuple(out)

    def error_selector(self, contract: str, name: str) -> bytes:
        for sel, err in self._errors.items():
            if err.name == name:
                return sel
        raise KeyError(f"no error {name} in the ABIs of {contract}")

    # -- decoding -----------------------------------------------------------------

    def decode_error(self, raw: bytes) -> tuple[str, dict[str, Any]]:
        """``(name, args)`` of revert data; ``("unknown", {...})`` if no ABI declares it."""
        if len(raw) < 4:
            return ("unknown", {"data": "0x" + raw.hex()} if raw else {})
        err = self._errors.get(raw[:4])
        if err is None:
            return ("unknown", {"selector": "0x" + raw[:4].hex(), "data": "0x" + raw.hex()})
        values = abi_decode(err.types, raw[4:])
        args = {i["name"] or f"arg{k}": _normalise(v, i)
                for k, (v, i) in enumerate(zip(values, err.inputs, strict=True))}
        if err.name == "Panic":
            args["meaning"] = PANIC_CODES.get(int(args["code"]), "unknown panic")
        return err.name, args

    def decode_logs(self, logs: Iterable[Mapping[str, Any]]) -> list[DecodedEvent]:
        out = []
        for log in logs:
            topics = [bytes(t) for t in log["topics"]]
            if not topics:
                continue
            ev = self._events.get(topics[0])
            if ev is None:
                continue
            indexed = [i for i in ev.inputs if i.get("indexed")]
            plain = [i for i in ev.inputs if not i.get("indexed")]
            args: dict[str, Any] = {}
            for i, topic in zip(indexed, topics[1:], strict=False):
                t = _type_str(i)
                if t in ("string", "bytes") or t.endswith("]") or t.startswith("("):
                    args[i["name"]] = topic  # hashed value
                else:
                    args[i["name"]] = _normalise(abi_decode([t], topic)[0], i)
            data = bytes(log["data"])
            if plain:
                values = abi_decode([_type_str(i) for i in plain], data)
                for v, i in zip(values, plain, strict=True):
                    args[i["name"]] = _normalise(v, i)
            ordered = {i["name"]: args[i["name"]] for i in ev.inputs}
            out.append(DecodedEvent(ev.name, to_checksum_address(log["address"]), ordered,
                                    ev.contract))
        return out
