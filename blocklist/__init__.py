"""Unlicensed-exchanger domains: normalisation, the AFSA register, licensed check, lookalikes, ISP feeds."""
