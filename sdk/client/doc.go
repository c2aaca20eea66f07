// Package client is the Go client of the Pacific API: a connection with
// retries and fail-over (New), typed clients over the generic
// ResourceService built with generics (For), an untyped client for tools
// that pick the kind at run time (Client.Dynamic), watches that resume by
// themselves (Watcher), kubectl-style create-or-update (Apply), and the
// client config file shared with pacctl and `pacific dev` (Config).
//
// Connect, create a Namespace and read it back:
//
//	c, err := client.New(client.Options{Servers: []string{"127.0.0.1:7443"}})
//	if err != nil { ... }
//	defer c.Close()
//	namespaces := client.For[*corev1.Namespace](c)
//	_, err = namespaces.Create(ctx, &corev1.Namespace{Metadata: &corev1.ObjectMeta{Name: "demo"}})
//	if client.IsAlreadyExists(err) { ... }
//	ns, err := namespaces.Get(ctx, "", "demo")
//
// Or use the target of a config file (pacctl's, or the one `pacific dev`
// writes):
//
//	cfg, err := client.LoadConfigFile(path)
//	opts, err := cfg.Options("") // the current context
//	c, err := client.New(opts)
//
// Errors are the server's gRPC status errors wrapped with context: test
// them with IsNotFound, IsConflict and friends, or status.Code, and get the
// server's message with Message.
//
// Watch every change after a list, with no gap and no duplicate:
//
//	list, err := namespaces.List(ctx, client.ListOptions{})
//	w, err := namespaces.Watch(ctx, client.WatchOptions{ResourceVersion: list.ResourceVersion})
//	defer w.Stop()
//	for ev := range w.Events() { ... }
//	if errors.Is(w.Err(), client.ErrRelist) { /* list again */ }
package client
