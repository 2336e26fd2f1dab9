"""Network faults no real agent produces on demand: lost, late and garbage UDP replies,
and a cut switched on and off: the relay of netmon.tools.simulate before a real agent."""

from netmon.tools.simulate import UdpRelay as LossyProxy
from netmon.tools.simulate import relay as proxy

__all__ = ["LossyProxy", "proxy"]
