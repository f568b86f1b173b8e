"""The phone farm service: REST (rest/) -> task domain (domain/) -> gateways (gateways/); supervision/ wires and runs them."""
