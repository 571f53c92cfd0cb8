"""Events leaving a node: cross-node cache invalidation (``invalidation``)."""
