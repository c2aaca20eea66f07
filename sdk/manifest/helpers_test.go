package manifest

import (
	"os"
	"testing"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	// The well-known types widget.proto imports.
	_ "google.golang.org/protobuf/types/known/anypb"
	_ "google.golang.org/protobuf/types/known/durationpb"
	_ "google.golang.org/protobuf/types/known/emptypb"
	_ "google.golang.org/protobuf/types/known/fieldmaskpb"
	_ "google.golang.org/protobuf/types/known/structpb"
	_ "google.golang.org/protobuf/types/known/timestamppb"
	_ "google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/openpacific/pacific/sdk/apis"
	corev1 "github.com/openpacific/pacific/sdk/gen/pacific/core/v1"
)

// widgetDecoder returns a Decoder that knows the test kind
// test.pacific.dev/v1 Widget (testdata/widget.proto) besides every
// generated kind.
func widgetDecoder(t testing.TB) Decoder {
	t.Helper()
	raw, err := os.ReadFile("testdata/widget.txtpb")
	if err != nil {
		t.Fatal(err)
	}
	var set descriptorpb.FileDescriptorSet
	if err := prototext.Unmarshal(raw, &set); err != nil {
		t.Fatal(err)
	}
	fd, err := protodesc.NewFile(set.GetFile()[0], protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	return Decoder{Types: apis.Types{Resolver: widgetResolver{fd.Messages().ByName("Widget")}}}
}

// widgetResolver resolves Widget to a dynamic type whose objects satisfy
// apis.Object, and everything else through the global registry.
type widgetResolver struct {
	md protoreflect.MessageDescriptor
}

func (r widgetResolver) FindMessageByName(name protoreflect.FullName) (protoreflect.MessageType, error) {
	if name == r.md.FullName() {
		return widgetType{dynamicpb.NewMessageType(r.md)}, nil
	}
	return protoregistry.GlobalTypes.FindMessageByName(name)
}

type widgetType struct{ protoreflect.MessageType }

func (t widgetType) New() protoreflect.Message { return &widgetMsg{t.MessageType.New()} }

// widgetMsg is a dynamic message whose Interface is a *widget.
type widgetMsg struct{ protoreflect.Message }

func (m *widgetMsg) Interface() protoreflect.ProtoMessage { return (*widget)(m) }

type widget widgetMsg

func (w *widget) ProtoReflect() protoreflect.Message { return (*widgetMsg)(w) }

func (w *widget) GetMetadata() *corev1.ObjectMeta {
	m := w.ProtoReflect()
	fd := m.Descriptor().Fields().ByName("metadata")
	out := &corev1.ObjectMeta{}
	b, err := proto.Marshal(m.Get(fd).Message().Interface())
	if err == nil {
		_ = proto.Unmarshal(b, out)
	}
	return out
}

// specOf returns the spec field of a decoded Widget.
func specOf(t testing.TB, obj proto.Message) protoreflect.Message {
	t.Helper()
	m := obj.ProtoReflect()
	fd := m.Descriptor().Fields().ByName("spec")
	if fd == nil {
		t.Fatalf("%s has no spec", m.Descriptor().FullName())
	}
	return m.Get(fd).Message()
}

var widgetGVK = apis.GVK{APIVersion: "test.pacific.dev/v1", Kind: "Widget"}
