"""The client's IP address, trusting X-Forwarded-For only as far as the configured number of proxies.

With TRUSTED_PROXY_COUNT = N, the last N hops were added by our own proxies, so the client is the N-th address
from the right of "X-Forwarded-For" (the nearest proxy's peer is REMOTE_ADDR). Anything left of it is what the
client wrote itself and is ignored, so a forged header can neither pass the allowlist nor dodge rate limits.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=4096)  # the same few addresses request after request; ip_address() costs ~10 us
def _parse(text: str) -> str | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def client_ip(remote_addr: str | None, forwarded_for: str | None, trusted_proxies: int | None = None) -> str | None:
    trusted = settings.TRUSTED_PROXY_COUNT if trusted_proxies is None else trusted_proxies
    peer = _parse(remote_addr or "")
    if trusted <= 0 or not forwarded_for:
        return peer
    hops = [hop for hop in forwarded_for.split(",") if hop.strip()]
    if not hops:
        return peer
    # Fewer hops than proxies: all of them were written by our proxies, the first is the client.
    chosen = hops[-trusted] if len(hops) >= trusted else hops[0]
    return _parse(chosen) or peer


def request_client_ip(request) -> str | None:
    cached = getattr(request, "client_ip", None)
    if cached is None:
        cached = client_ip(request.META.get("REMOTE_ADDR"), request.META.get("HTTP_X_FORWARDED_FOR"))
        request.client_ip = cached
    return cached


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs if cidr.strip())


def ip_allowed(ip: str | None) -> bool:
    """True when no allowlist is configured, or the address is inside one of its CIDRs."""
    networks = _networks(tuple(settings.API_IP_ALLOWLIST))
    if not networks:
        return True
    if ip is None:
        return False
    address = ipaddress.ip_address(ip)
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


def axes_client_ip(request) -> str:
    """django-axes (admin login lockouts) counts by the same client address as the rest of the security layer."""
    return request_client_ip(request) or ""
