// Filled in by the scheduling_test work item.
