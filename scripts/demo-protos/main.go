// Compiles the demo's .proto files (demo/protos) into one google.protobuf.FileDescriptorSet,
// every import included, each file after the files it imports — what a gRPC server's reflection
// serves (demo/grpc-inference.ts serves these bytes) and what Envoy's gRPC-JSON transcoder reads.
//   go run . <out.pb> <import dir[:import dir…]> <file.proto>...
package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: demo-protos OUT.pb IMPORT_DIR FILE.proto...")
		os.Exit(2)
	}
	out, dir, files := os.Args[1], os.Args[2], os.Args[3:]
	compiler := protocompile.Compiler{
		Resolver:       protocompile.WithStandardImports(&protocompile.SourceResolver{ImportPaths: strings.Split(dir, ":")}),
		SourceInfoMode: protocompile.SourceInfoNone,
	}
	compiled, err := compiler.Compile(context.Background(), files...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	set := &descriptorpb.FileDescriptorSet{}
	seen := map[string]bool{}
	var add func(f protoreflect.FileDescriptor)
	add = func(f protoreflect.FileDescriptor) {
		if seen[f.Path()] {
			return
		}
		seen[f.Path()] = true
		imports := f.Imports()
		for i := 0; i < imports.Len(); i++ {
			add(imports.Get(i).FileDescriptor)
		}
		set.File = append(set.File, protodesc.ToFileDescriptorProto(f))
	}
	for _, f := range compiled {
		add(f)
	}
	bytes, err := proto.MarshalOptions{Deterministic: true}.Marshal(set)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.WriteFile(out, bytes, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("demo-protos: %d files, %d bytes -> %s\n", len(set.File), len(bytes), out)
}
