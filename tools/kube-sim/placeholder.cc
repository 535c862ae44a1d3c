// Placeholder until kube-sim lands; delete when a real source exists.
