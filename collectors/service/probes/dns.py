"""One DNS query over UDP to the configured server (dnspython, asyncio)."""

from __future__ import annotations

from ipaddress import ip_address

import dns.asyncquery
import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype

from collectors.service.params import DnsProbe
from collectors.service.probes.outcome import PASSED, Outcome, failed, from_exception

#: addresses shown in a mismatch detail (an answer can be long)
SHOWN = 4


async def resolve(probe: DnsProbe) -> Outcome:
    """NOERROR with at least one record of the type asked for passes, and with
    ``expect`` one of those addresses must be among them. Recursion is asked for, so a
    resolver answers for names it does not hold itself."""
    rdtype = dns.rdatatype.from_text(probe.record)
    query = dns.message.make_query(probe.query, rdtype)
    try:
        # no timeout of its own: the collector bounds every check with its timeout
        answer = await dns.asyncquery.udp(query, probe.server, port=probe.port)
    except OSError as exc:
        return from_exception(exc)
    except dns.exception.Timeout:
        return failed("timeout", "no answer in time")
    except dns.exception.DNSException as exc:
        return failed("error", f"bad DNS answer: {type(exc).__name__}")
    rcode = answer.rcode()
    if rcode != dns.rcode.NOERROR:
        return failed("dns", f"{probe.record} {probe.query}: {dns.rcode.to_text(rcode)}")
    found = [
        rdata.to_text() for rrset in answer.answer if rrset.rdtype == rdtype for rdata in rrset
    ]
    if not found:
        return failed("dns", f"{probe.record} {probe.query}: no {probe.record} record")
    if probe.expect and not {ip_address(a) for a in found} & {ip_address(a) for a in probe.expect}:
        shown = ", ".join(sorted(found)[:SHOWN]) + (", ..." if len(found) > SHOWN else "")
        wanted = ", ".join(probe.expect)
        return failed("mismatch", f"{probe.query} is {shown}, not one of {wanted}")
    return PASSED
