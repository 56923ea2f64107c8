"""Running unattended: logs, crash reports, health, the watchdog, the
supervisor, systemd units, opening hours and disk limits (an installation's
needs, none of them on the real-time path)."""
