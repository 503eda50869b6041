// Filled in by the rt_purity_test work item.
