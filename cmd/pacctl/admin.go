package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	adminv1 "github.com/openpacific/pacific/sdk/gen/pacific/admin/v1"
)

func newAdminCommand(a *app) *cobra.Command {
	admin := &cobra.Command{
		Use:   "admin",
		Short: "Administer the API server",
	}
	members := &cobra.Command{
		Use:   "members",
		Short: "List, add and remove API server replicas (Raft members)",
	}
	members.AddCommand(
		&cobra.Command{
			Use:   "list",
			Short: "List the replicas",
			Args:  argsExactly(0, "takes no arguments"),
			RunE: func(cmd *cobra.Command, _ []string) error {
				return a.membersList(cmd.Context())
			},
		},
		newMembersAddCommand(a),
		&cobra.Command{
			Use:   "remove ID",
			Short: "Remove a replica",
			Args:  argsExactly(1, "name the replica to remove"),
			RunE: func(cmd *cobra.Command, args []string) error {
				return a.membersRemove(cmd.Context(), args[0])
			},
		},
	)
	admin.AddCommand(members)
	return admin
}

func newMembersAddCommand(a *app) *cobra.Command {
	var req adminv1.AddMemberRequest
	cmd := &cobra.Command{
		Use:   "add ID --raft-address HOST:PORT --api-address HOST:PORT",
		Short: "Add a replica; it must be running already so it can catch up",
		Args:  argsExactly(1, "name the replica to add"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Id = args[0]
			return a.membersAdd(cmd.Context(), &req)
		},
	}
	cmd.Flags().StringVar(&req.RaftAddress, "raft-address", "", "the replica's Raft address (required)")
	cmd.Flags().StringVar(&req.ApiAddress, "api-address", "", "the replica's API address (required)")
	_ = cmd.MarkFlagRequired("raft-address")
	_ = cmd.MarkFlagRequired("api-address")
	return cmd
}

func (a *app) membersList(ctx context.Context) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	ctx, cancel := a.requestContext(ctx)
	defer cancel()
	resp, err := c.Admin().ListMembers(ctx, &adminv1.ListMembersRequest{})
	if err != nil {
		return fmt.Errorf("list members: %w", err)
	}
	return a.printMembers(resp.GetMembers())
}

func (a *app) membersAdd(ctx context.Context, req *adminv1.AddMemberRequest) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	ctx, cancel := a.requestContext(ctx)
	defer cancel()
	resp, err := c.Admin().AddMember(ctx, req)
	if err != nil {
		return fmt.Errorf("add member %s: %w", req.GetId(), err)
	}
	fmt.Fprintf(a.stdout, "member %q added\n", req.GetId())
	return a.printMembers(resp.GetMembers())
}

func (a *app) membersRemove(ctx context.Context, id string) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	ctx, cancel := a.requestContext(ctx)
	defer cancel()
	resp, err := c.Admin().RemoveMember(ctx, &adminv1.RemoveMemberRequest{Id: id})
	if err != nil {
		return fmt.Errorf("remove member %s: %w", id, err)
	}
	fmt.Fprintf(a.stdout, "member %q removed\n", id)
	return a.printMembers(resp.GetMembers())
}

func (a *app) printMembers(members []*adminv1.Member) error {
	rows := [][]string{{"ID", "RAFT ADDRESS", "API ADDRESS", "LEADER", "VOTER"}}
	for _, m := range members {
		rows = append(rows, []string{m.GetId(), m.GetRaftAddress(), m.GetApiAddress(), fmt.Sprint(m.GetLeader()), fmt.Sprint(m.GetVoter())})
	}
	return (&table{w: a.stdout}).write(rows...)
}
