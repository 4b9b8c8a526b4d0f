/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vfork() that stays a real vfork. It cannot be C: the child returns
 * through, and then reuses, the parent's stack, so the return address must
 * live in a register across the system call, as in glibc. While a child
 * borrows the parent's memory, accel_vfork_active is raised so that the
 * child's calls leave libaccel's shared tables alone (core_in_vfork_child).
 * Before it, the parent hands its inheritable offloaded connections over to
 * kernel sockets (core_before_vfork): the child will exec with them.
 * Architectures without this file use the C fallback in interpose_proc.c.
 */
#if defined(__x86_64__) && defined(__linux__)
	.text
	.hidden	accel_vfork_active
	.hidden	core_vfork_failed
	.hidden	core_before_vfork
	.globl	vfork
	.type	vfork, @function
	.p2align 4
vfork:
	.cfi_startproc
#ifdef __CET__
	endbr64
#endif
	subq	$8, %rsp		/* align the stack for a C call */
	.cfi_adjust_cfa_offset 8
	call	core_before_vfork	/* still only the parent: it may change tables */
	addq	$8, %rsp
	.cfi_adjust_cfa_offset -8
	lock incl	accel_vfork_active(%rip)
	popq	%rdi			/* return address, safe from the child */
	.cfi_adjust_cfa_offset -8
	.cfi_register rip, rdi
	movl	$58, %eax		/* __NR_vfork */
	syscall
	pushq	%rdi
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset rip, 0
	testq	%rax, %rax
	je	1f			/* child: keep the flag raised until it execs */
	lock decl	accel_vfork_active(%rip)	/* parent: the child has exec'd or exited */
	cmpq	$-4095, %rax
	jae	2f
1:	ret
2:	negl	%eax
	movl	%eax, %edi
	jmp	core_vfork_failed	/* errno = edi; return -1 */
	.cfi_endproc
	.size	vfork, .-vfork
#endif
	.section .note.GNU-stack,"",@progbits
