"""The bundled patches (TOML files). `tensorstage run NAME` finds them by name."""
