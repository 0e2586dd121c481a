"""Unlicensed-exchanger domains: normalisation, the AFSA register, the licensed check and ISP feeds."""
