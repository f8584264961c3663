"""FMZ custom-protocol gateway: an HTTP plugin server that lets FMZ strategies trade OKX through exchange/."""
