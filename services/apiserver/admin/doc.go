// Package admin implements pacific.admin.v1.AdminService: listing, adding
// and removing API server replicas.
package admin
