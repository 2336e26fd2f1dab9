"""Network faults no real agent produces on demand: lost, late and garbage UDP replies,
and a cut that can be switched on and off: netmon.simulate's relay in front of a real agent."""

from netmon.simulate import UdpRelay as LossyProxy
from netmon.simulate import relay as proxy

__all__ = ["LossyProxy", "proxy"]
