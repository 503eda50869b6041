// Filled in by the latency_test work item.
