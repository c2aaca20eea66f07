// Package rollout is the client side of Deployment rollouts, shared by
// pacctl and integrators: the progress message and completion of a
// rollout (Status), the revision history kept in a Deployment's
// ReplicaSets (History), and rollback (Undo), which copies an old
// revision's pod template back into the Deployment, as kubectl does.
package rollout
