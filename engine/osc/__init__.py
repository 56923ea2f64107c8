"""OSC: parameters in, control streams and status out, discovery (OSCQuery)."""
