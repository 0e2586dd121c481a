"""Bitcoin through the Esplora HTTP API: blocks, transactions, address histories."""
