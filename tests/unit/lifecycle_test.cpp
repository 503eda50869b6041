// Filled in by the lifecycle_test work item.
