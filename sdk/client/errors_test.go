package client

import (
	"errors"
	"fmt"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestErrorHelpersSeeThroughWrapping(t *testing.T) {
	for _, tc := range []struct {
		code codes.Code
		is   func(error) bool
	}{
		{codes.NotFound, IsNotFound},
		{codes.AlreadyExists, IsAlreadyExists},
		{codes.Aborted, IsConflict},
		{codes.InvalidArgument, IsInvalid},
		{codes.ResourceExhausted, IsTooLarge},
		{codes.OutOfRange, IsRelist},
		{codes.Unavailable, IsUnavailable},
		{codes.Unauthenticated, IsUnauthenticated},
		{codes.PermissionDenied, IsForbidden},
	} {
		err := fmt.Errorf("get Namespace demo: %w", status.Error(tc.code, "server says"))
		if !tc.is(err) {
			t.Errorf("%v: helper is false for a wrapped error", tc.code)
		}
		if tc.is(status.Error(codes.Internal, "x")) || tc.is(nil) {
			t.Errorf("%v: helper is true for another code", tc.code)
		}
		if Message(err) != "server says" {
			t.Errorf("Message = %q", Message(err))
		}
	}
	if Message(errors.New("plain")) != "plain" || Message(nil) != "" || Status(errors.New("x")) != nil {
		t.Error("Message/Status of non-status errors")
	}
}

func TestFieldViolations(t *testing.T) {
	st, err := status.New(codes.InvalidArgument, "Namespace \"x\" is invalid").WithDetails(&errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "metadata.name", Description: "must be DNS-1123"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	fv := FieldViolations(fmt.Errorf("create: %w", st.Err()))
	if len(fv) != 1 || fv[0].Field != "metadata.name" {
		t.Fatalf("FieldViolations = %v", fv)
	}
	if FieldViolations(errors.New("x")) != nil {
		t.Fatal("violations from a plain error")
	}
}
