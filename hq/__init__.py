"""HQ: the authority for members, points, tiers and vouchers."""
